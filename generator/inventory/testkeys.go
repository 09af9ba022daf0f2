package inventory

import "fmt"

// TestOnlyRecipients are the age recipients of the identities committed to
// meshgen's repository under testdata/age, by the file that holds each
// private key. Those private keys are public: anything encrypted to them is
// readable by anyone, so an inventory that names one is refused unless the
// run says it is meshgen's own example or test (TestOnlyRecipientErrors). A
// test derives this list from the committed keys, so it cannot go stale.
var TestOnlyRecipients = map[string]string{
	"age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf": "testdata/age/test-only-operator.agekey",
	"age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq": "testdata/age/test-only-cluster.agekey",
}

// TestOnlyRecipientErrors returns a finding, at the recipient's position,
// for every recipient the inventory names that is one of
// TestOnlyRecipients; nil when there is none.
func (inv *Inventory) TestOnlyRecipientErrors() ErrorList {
	var errs ErrorList
	check := func(path string, rs []string) {
		for i, r := range rs {
			if file, ok := TestOnlyRecipients[r]; ok {
				p := fmt.Sprintf("%s[%d]", path, i)
				errs = append(errs, &Error{File: inv.File, Pos: inv.PosOf(p), Path: p,
					Msg: fmt.Sprintf("%s is a test-only key: its private key is published in meshgen's repository (%s), so anyone can decrypt what is encrypted to it", r, file)})
			}
		}
	}
	check("mesh.recipients", inv.Mesh.Recipients)
	for i, c := range inv.Clusters {
		check(fmt.Sprintf("clusters[%d].recipients", i), c.Recipients)
	}
	return errs
}

// Merge returns the findings of l and more together, sorted by position.
func (l ErrorList) Merge(more ErrorList) ErrorList {
	return sortErrors(append(append(ErrorList(nil), l...), more...))
}

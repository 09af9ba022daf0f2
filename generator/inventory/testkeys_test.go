package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestTestOnlyRecipientsMatchCommittedKeys ties TestOnlyRecipients to the
// private keys committed under testdata/age: every committed key's
// recipient is listed, with its file, and nothing else is.
func TestTestOnlyRecipientsMatchCommittedKeys(t *testing.T) {
	files, err := filepath.Glob("../../testdata/age/*.agekey")
	if err != nil || len(files) == 0 {
		t.Fatalf("no committed test keys found: %v", err)
	}
	want := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := age.ParseIdentities(strings.NewReader(string(data)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, id := range ids {
			x, ok := id.(*age.X25519Identity)
			if !ok {
				t.Fatalf("%s: %T is not an X25519 identity", f, id)
			}
			want[x.Recipient().String()] = "testdata/age/" + filepath.Base(f)
		}
	}
	for r, f := range want {
		if TestOnlyRecipients[r] != f {
			t.Errorf("TestOnlyRecipients[%s] = %q, want %q (the committed key's file)", r, TestOnlyRecipients[r], f)
		}
	}
	for r := range TestOnlyRecipients {
		if _, ok := want[r]; !ok {
			t.Errorf("TestOnlyRecipients lists %s, which no committed key has", r)
		}
	}
}

func TestTestOnlyRecipientErrors(t *testing.T) {
	src := `apiVersion: meshgen/v1alpha1
kind: Inventory
mesh:
  id: mesh1
  recipients:
    - age1hdn3lhukgeqejdau6hpe5g6g4trqenvwtgnd5x4758ysx8079dmqjrcwvp
    - age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf
  istio: {version: 1.28.2}
  discovery: service-entries
networks:
  - name: net1
clusters:
  - name: a
    network: net1
    recipients: [age1hdn3lhukgeqejdau6hpe5g6g4trqenvwtgnd5x4758ysx8079dmqjrcwvp]
  - name: b
    network: net1
    recipients: [age1hdn3lhukgeqejdau6hpe5g6g4trqenvwtgnd5x4758ysx8079dmqjrcwvp, age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq]
`
	inv, err := Load("inventory.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Validate(); err != nil {
		t.Fatalf("the inventory is otherwise valid: %v", err)
	}
	want := `inventory.yaml:7:7: mesh.recipients[1]: age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf is a test-only key: its private key is published in meshgen's repository (testdata/age/test-only-operator.agekey), so anyone can decrypt what is encrypted to it
inventory.yaml:18:82: clusters[1].recipients[1]: age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq is a test-only key: its private key is published in meshgen's repository (testdata/age/test-only-cluster.agekey), so anyone can decrypt what is encrypted to it`
	if got := inv.TestOnlyRecipientErrors().Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	clean := strings.NewReplacer(
		"age1ayfknjeuazze9ku07e8cxgfz7jydfl2hnrjgae8v9ynwckft0pgqee87vf", "age1hdn3lhukgeqejdau6hpe5g6g4trqenvwtgnd5x4758ysx8079dmqjrcwvp",
		", age1h0ea50aauayktyvxxyq6qanpp4qqnse2psz5c697pkusu4hxlucs7fcpcq", "").Replace(src)
	inv, err = Load("inventory.yaml", []byte(clean))
	if err != nil {
		t.Fatal(err)
	}
	if errs := inv.TestOnlyRecipientErrors(); errs != nil {
		t.Errorf("own keys refused: %v", errs)
	}
}

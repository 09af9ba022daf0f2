package secrets

import (
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func recipient(t *testing.T) (string, *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String(), id
}

// A remote secret is current only for the credential, API server and
// recipients it was built from; a credential stored again changes its
// fingerprint, and the token never shows in plaintext.
func TestRemoteSecretCurrent(t *testing.T) {
	op, opID := recipient(t)
	cl, _ := recipient(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cred := Credential{Cluster: "b", Token: "test-only-token", CA: []byte("test-only-ca")}
	credFile, err := Encrypt(CredentialDoc(cred), []string{op}, CredentialRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(credFile), cred.Token) {
		t.Fatal("stored credential shows its token")
	}
	fp, err := Fingerprint(credFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := DecryptDoc(credFile, []age.Identity{opID})
	if err != nil {
		t.Fatal(err)
	}
	if got := CredentialOf("b", doc); got.Token != cred.Token || string(got.CA) != string(cred.CA) {
		t.Fatalf("credential read back as %+v", got)
	}
	rs, err := RemoteSecretDoc(&cred, "b", "https://b.example:6443", fp, "istio-system")
	if err != nil {
		t.Fatal(err)
	}
	recipients := SortedRecipients([]string{cl, op, cl})
	file, err := Encrypt(rs, recipients, RemoteSecretRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(file), cred.Token) {
		t.Fatal("remote secret shows its token")
	}
	if !RemoteSecretCurrent(file, "https://b.example:6443", fp, recipients) {
		t.Fatal("remote secret not current for what it was built from")
	}
	again, err := Encrypt(CredentialDoc(cred), []string{op}, CredentialRegex, now)
	if err != nil {
		t.Fatal(err)
	}
	fp2, err := Fingerprint(again)
	if err != nil {
		t.Fatal(err)
	}
	for name, current := range map[string]bool{
		"API server moved":    RemoteSecretCurrent(file, "https://b2.example:6443", fp, recipients),
		"credential restored": fp2 != fp && RemoteSecretCurrent(file, "https://b.example:6443", fp2, recipients),
		"recipient dropped":   RemoteSecretCurrent(file, "https://b.example:6443", fp, []string{op}),
		"not a secret at all": RemoteSecretCurrent([]byte("kind: ConfigMap\n"), "https://b.example:6443", fp, recipients),
	} {
		if current {
			t.Errorf("%s: remote secret still current", name)
		}
	}
	if _, err := Fingerprint([]byte("kind: Secret\n")); err == nil {
		t.Error("Fingerprint of a file that is not SOPS: no error")
	}
}

func TestRecipientChange(t *testing.T) {
	if got, want := RecipientChange([]string{"a", "b"}, []string{"b", "c"}), "recipient added c; recipient removed a"; got != want {
		t.Errorf("RecipientChange = %q, want %q", got, want)
	}
	if got := RecipientChange([]string{"a"}, []string{"a"}); got != "" {
		t.Errorf("RecipientChange of equal sets = %q", got)
	}
}

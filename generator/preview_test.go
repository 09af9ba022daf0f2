package generator

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshgen/meshgen/generator/topology"
)

// TestPreviewShowsEverythingButThePendingSecrets: a preview without an
// identity (diff, generate --check in CI) does not fail on work that needs
// one. It names each such secret with the reason and keeps its prior bytes,
// and every other file is exactly what a run with the identity writes, so
// the plaintext side of the change is complete.
func TestPreviewShowsEverythingButThePendingSecrets(t *testing.T) {
	const n = 2
	inv := pkiInventory(t, n, "ecdsa-p256")
	first := mustGenerate(t, inv, pkiOptions(nil))

	// An operator added: the root key and every cacerts are re-encrypted.
	const added = "age1hdn3lhukgeqejdau6hpe5g6g4trqenvwtgnd5x4758ysx8079dmqjrcwvp"
	inv.Mesh.Recipients = append(inv.Mesh.Recipients, added)

	// Without Preview, the run fails as before.
	if _, err := Generate(inv, pkiOptions(first.Map())); err == nil {
		t.Fatal("no error without an identity")
	} else {
		needIdentity(t, err)
	}

	opts := pkiOptions(first.Map())
	opts.Preview = true
	preview := mustGenerate(t, inv, opts)
	want := map[string]string{RootCAPath: "must be re-encrypted (recipient added " + added + ")"}
	for i := 1; i <= n; i++ {
		want[cacertsPathOf(clusterName(i))] = `cluster "` + clusterName(i) + `": cacerts must be rewritten (re-encrypted: recipient added ` + added + ")"
	}
	if len(preview.Pending) != len(want) {
		t.Errorf("Pending = %v, want %d entries", preview.Pending, len(want))
	}
	for p, why := range want {
		if !strings.HasPrefix(preview.Pending[p], why) {
			t.Errorf("Pending[%s] = %q, want it to start %q", p, preview.Pending[p], why)
		}
		if f := preview.Get(p); f == nil || !bytes.Equal(f.Data, first.Get(p).Data) {
			t.Errorf("%s: the preview does not keep the prior bytes", p)
		}
	}

	withID := pkiOptions(first.Map())
	withID.Identities = ageIdentities(t, "operator")
	real := mustGenerate(t, inv, withID)
	if len(real.Pending) != 0 {
		t.Errorf("a run with the identity left %v pending", real.Pending)
	}
	if len(real.Files) != len(preview.Files) {
		t.Fatalf("the preview has %d files, the real run %d", len(preview.Files), len(real.Files))
	}
	changed := 0
	for i, f := range real.Files {
		pf := preview.Files[i]
		if pf.Path != f.Path {
			t.Fatalf("file %d: preview %s, real run %s", i, pf.Path, f.Path)
		}
		if _, pending := preview.Pending[f.Path]; pending {
			continue
		}
		if !bytes.Equal(pf.Data, f.Data) {
			t.Errorf("%s: the preview differs from the real run", f.Path)
		}
		if !bytes.Equal(f.Data, first.Get(f.Path).Data) {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no plaintext file changed: the test shows nothing") // .sops.yaml lists the recipients
	}
}

// TestPreviewNewCluster: a new cluster's cacerts cannot be issued without
// the root key; the preview lists it, leaves the file out and still lists
// it among its overlay's resources.
func TestPreviewNewCluster(t *testing.T) {
	first := mustGenerate(t, pkiInventory(t, 1, "ecdsa-p256"), pkiOptions(nil))
	opts := pkiOptions(first.Map())
	opts.Preview = true
	preview := mustGenerate(t, pkiInventory(t, 2, "ecdsa-p256"), opts)
	p := cacertsPathOf(clusterName(2))
	if got := preview.Pending[p]; got != `cluster "c002": cacerts must be issued (new cluster), which needs the root key` {
		t.Errorf("Pending[%s] = %q", p, got)
	}
	if len(preview.Pending) != 1 {
		t.Errorf("Pending = %v", preview.Pending)
	}
	if preview.Get(p) != nil {
		t.Errorf("%s is in the preview", p)
	}
	k := preview.Get("overlays/" + clusterName(2) + "/install/kustomization.yaml")
	if k == nil || !bytes.Contains(k.Data, []byte("- cacerts.sops.yaml\n")) {
		t.Errorf("the new overlay does not list its cacerts")
	}
}

// TestPreviewRemoteSecret: a remote secret to rewrite (the watched API
// server moved) needs the stored credential, which only an operator can
// read; the preview names it and keeps the prior file.
func TestPreviewRemoteSecret(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		ws := topology.New(sc.inv).Watched()
		if len(ws) == 0 {
			continue
		}
		watched := sortedKeys(ws)[0]
		creds := withCredentials(t, sc.inv, nil)
		first := mustGenerate(t, sc.inv, testOptions(creds))
		prior := first.Map()
		for p, data := range creds {
			prior[p] = data
		}
		sc.inv.Cluster(watched).APIServer = "https://203.0.113.99:6443"
		opts := pkiOptions(prior)
		opts.Preview = true
		preview := mustGenerate(t, sc.inv, opts)
		for _, w := range ws[watched] {
			p := StageDir(w, meshStage) + "/" + remoteSecretsDir + "/" + watched + ".sops.yaml"
			want := `cluster "` + w + `": remote secret for ` + watched + ` must be written, which needs an operator's identity to read its stored credential`
			if preview.Pending[p] != want {
				t.Errorf("%s: Pending[%s] = %q, want %q", sc.file, p, preview.Pending[p], want)
			}
			if f := preview.Get(p); f == nil || !bytes.Equal(f.Data, prior[p]) {
				t.Errorf("%s: %s: the preview does not keep the prior bytes", sc.file, p)
			}
		}
		if len(preview.Pending) != len(ws[watched]) {
			t.Errorf("%s: Pending = %v", sc.file, preview.Pending)
		}
		return
	}
	t.Fatal("no golden scenario with remote secrets")
}

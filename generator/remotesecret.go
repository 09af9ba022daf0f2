package generator

import "github.com/meshgen/meshgen/generator/secrets"

// EncryptCredential renders a credential file, encrypted to recipients,
// behind the generated-file header.
func EncryptCredential(cred secrets.Credential, recipients []string, opts Options) ([]byte, error) {
	enc, err := secrets.Encrypt(secrets.CredentialDoc(cred), recipients, secrets.CredentialRegex, opts.Now)
	if err != nil {
		return nil, err
	}
	return append([]byte(Header), enc...), nil
}

// sortedCopy returns s sorted, without duplicates.
func sortedCopy(s []string) []string { return secrets.SortedRecipients(s) }

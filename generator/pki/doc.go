// Package pki creates the certificate authorities of an Istio multicluster
// mesh: one root CA, and per cluster an intermediate CA signed by it for
// istiod's plug-in CA (the cacerts Secret).
//
// Key generation, CSRs and signing are done by cfssl (initca, csr and the
// local signer with a signing profile), kept behind this package's small
// API so the rest of meshgen never sees cfssl's types, global logger or
// policy structs. Private keys exist only as in-memory PEM; nothing here
// writes to disk, and no error or log line contains key material.
//
// Time is an input: intermediates take NotBefore from the caller's clock,
// and Verify and ReissueReason never read the wall clock.
package pki

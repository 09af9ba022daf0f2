// Package sops reads and writes SOPS-encrypted YAML files whose data key is
// wrapped for age recipients, byte-compatible with the files the sops v3.13
// binary writes and reads (and therefore with Flux's kustomize-controller and
// Argo CD's KSOPS, which embed sops).
//
// The format is implemented here directly instead of importing
// github.com/getsops/sops, which pulls in every cloud KMS SDK and reads the
// clock from globals. Here time is an option; randomness comes from
// crypto/rand and the data key is wrapped with filippo.io/age itself. No
// cryptographic primitive or format below the SOPS envelope is written here.
//
// A SOPS file is the plaintext document with every selected leaf value
// replaced by
//
//	ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<str|int|float|bool|time>]
//
// encrypted under a random 256-bit data key with AES-256-GCM, a 32-byte IV and
// the value's key path joined by ":" plus a trailing ":" as additional data.
// A top-level "sops" mapping carries the data key wrapped once per age
// recipient (an armored age file under sops.age[].enc), the time of
// encryption (lastmodified), the encryption rules (encrypted_regex, ...), and
// a MAC: the upper-case hex SHA-512 over the plaintext leaves, itself
// encrypted with the data key and lastmodified as additional data.
//
// Comments in the input are not carried into the output.
package sops

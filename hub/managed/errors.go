// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

// Code classifies a refusal, for the front doors to answer with.
type Code int

// Error is a refusal with the cause a user can act on.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func invalid(err error) error  { return &Error{Code: CodeInvalid, Err: err} }

// Refusals a client can act on.
const (
	CodeInvalid          Code = iota + 1 // a malformed request
	CodeUnauthenticated                  // unknown, wrong, revoked or expired token
	CodeForbidden                        // the token lacks the role, or its domains exclude the name
	CodeNoConfig                         // no config matches the identifier
	CodeRecordNotAllowed                 // the record name is not the identifier's
	CodeProvider                         // the DNS provider failed
	CodeBusy                             // the token's rate limit
	CodeConflict                         // another record holds the name
	CodeNotFound                         // no such delegation
)

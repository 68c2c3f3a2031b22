// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/acmehub/acmehub/hub/store"
)

// ValueHash identifies a value in the audit log without revealing it.
func ValueHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// Credential names what an audit entry's caller came with: its API
// token's client ID, or its issuer's token (issuer, subject and ID).
func Credential(e store.AuditEntry) string {
	if e.Issuer == "" {
		return e.ClientID
	}
	c := e.Issuer + ": " + e.Subject
	if e.TokenID != "" {
		c += " (token " + e.TokenID + ")"
	}
	return c
}

// audit appends the outcome of a request to the audit log.
func (s *Service) audit(ctx context.Context, action string, caller Caller, req Request, configID string, start time.Time, err error) {
	s.writeAudit(ctx, s.entry(action, caller, req, configID, start, err))
}

// entry is the audit entry of a request's outcome.
func (s *Service) entry(action string, caller Caller, req Request, configID string, start time.Time, err error) store.AuditEntry {
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
		var e *Error
		if errors.As(err, &e) && e.Code != CodeProvider {
			result = "refused: " + err.Error()
		}
	}
	e := store.AuditEntry{At: start, Action: action, Principal: caller.Principal, ClientID: caller.ClientID,
		Issuer: caller.Issuer, Subject: caller.Subject, TokenID: caller.TokenID, Address: req.Address,
		Identifier: req.Identifier, Record: req.Record, Config: configID, Result: result, Detail: req.Via, Duration: s.now().Sub(start)}
	if req.Value != "" {
		e.ValueHash = ValueHash(req.Value)
	}
	return e
}

func (s *Service) writeAudit(ctx context.Context, e store.AuditEntry) {
	if err := s.store.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("writing the audit log", "action", e.Action, "err", err)
	}
}

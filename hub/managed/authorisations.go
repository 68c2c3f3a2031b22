// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package managed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/acmehub/acmehub/hub/store"
)

// Authorisations are acmeproxy's: a name and a secret that may answer for
// that name (with SuffixMatch, for the names below it too). Each is an API
// token of the principal AuthorisationPrincipal whose domains are the name
// (and .name), so that every rule of tokens applies to it.

// AuthorisationPrincipal holds the tokens of every authorisation.
const AuthorisationPrincipal = "prn_acmeproxy"

// NewAuthorisation is an authorisation as created or rotated: its secret is
// shown once.
type NewAuthorisation struct {
	store.Authorisation
	Secret string
}

// authorisationSecret is acmeproxy's: 32 hex digits.
func authorisationSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateAuthorisation authorises name; createdBy is the client's address
// or the CLI's user. A name a config does not match, or that has an
// authorisation already, is refused.
func (s *Service) CreateAuthorisation(ctx context.Context, actor Caller, name string, suffixMatch bool, createdBy string) (NewAuthorisation, error) {
	a, err := s.createAuthorisation(ctx, name, suffixMatch, createdBy)
	s.auditAdmin(ctx, actor, fmt.Sprintf("create authorisation %s (suffix match %v) from %s", a.Name, suffixMatch, createdBy), err)
	return a, err
}

func (s *Service) createAuthorisation(ctx context.Context, name string, suffixMatch bool, createdBy string) (NewAuthorisation, error) {
	id, err := Identifier(name)
	if err != nil {
		return NewAuthorisation{}, invalid(fmt.Errorf("authorisation name: %w", err))
	}
	if _, ok := s.ConfigFor(id); !ok {
		return NewAuthorisation{Authorisation: store.Authorisation{Name: id}}, &Error{Code: CodeNoConfig, Err: fmt.Errorf("no managed challenge config matches %s", id)}
	}
	if _, err := s.store.Authorisation(ctx, id); err == nil {
		return NewAuthorisation{Authorisation: store.Authorisation{Name: id}}, &Error{Code: CodeForbidden, Err: fmt.Errorf("%s has an authorisation already", id)}
	}
	if _, err := s.store.Principal(ctx, AuthorisationPrincipal); errors.Is(err, store.ErrNotFound) {
		err = s.store.CreatePrincipal(ctx, store.Principal{ID: AuthorisationPrincipal, Kind: KindApplication,
			Title: "acmeproxy authorisations", Created: s.now(), Roles: []string{RoleConsumer}})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return NewAuthorisation{}, err
		}
	} else if err != nil {
		return NewAuthorisation{}, err
	}
	domains := []string{id}
	if suffixMatch {
		domains = append(domains, "."+id)
	}
	tok, err := s.createToken(ctx, TokenOptions{Principal: AuthorisationPrincipal, Title: "acmeproxy authorisation for " + id,
		Scopes: []string{RoleConsumer}, Domains: domains}, authorisationSecret())
	if err != nil {
		return NewAuthorisation{}, err
	}
	a := store.Authorisation{Name: id, ClientID: tok.ClientID, SuffixMatch: suffixMatch, Created: tok.Created, CreatedBy: createdBy}
	if err := s.store.CreateAuthorisation(ctx, a); err != nil {
		// Another request authorised the name meanwhile: this token goes.
		if rerr := s.store.RevokeToken(context.WithoutCancel(ctx), tok.ClientID, s.now()); rerr != nil {
			s.log.Error("revoking the token of an authorisation that was not stored", "client_id", tok.ClientID, "err", rerr)
		}
		if errors.Is(err, store.ErrExists) {
			return NewAuthorisation{Authorisation: a}, &Error{Code: CodeForbidden, Err: fmt.Errorf("%s has an authorisation already", id)}
		}
		return NewAuthorisation{}, err
	}
	return NewAuthorisation{Authorisation: a, Secret: tok.Secret}, nil
}

// AuthorisationCaller authenticates name and secret: the authorisation of
// name or, failing that, of the nearest parent with suffix match. An
// unknown name costs the same and answers the same as a wrong secret.
func (s *Service) AuthorisationCaller(ctx context.Context, name, secret string) (Caller, store.Authorisation, error) {
	a, err := s.authorisationFor(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return Caller{}, a, err
		}
		a = store.Authorisation{}
	}
	caller, err := s.Authenticate(ctx, a.ClientID, secret)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeUnauthenticated {
			return Caller{}, a, &Error{Code: CodeUnauthenticated, Err: fmt.Errorf("unknown authorisation %s, or wrong secret", name)}
		}
		return Caller{}, a, err
	}
	return caller, a, nil
}

func (s *Service) authorisationFor(ctx context.Context, name string) (store.Authorisation, error) {
	id, err := Identifier(name)
	if err != nil {
		return store.Authorisation{}, invalid(fmt.Errorf("authorisation name: %w", err))
	}
	a, err := s.store.Authorisation(ctx, id)
	for parent := id; errors.Is(err, store.ErrNotFound); {
		var ok bool
		if _, parent, ok = strings.Cut(parent, "."); !ok || !strings.Contains(parent, ".") {
			break
		}
		if a, err = s.store.Authorisation(ctx, parent); err == nil && !a.SuffixMatch {
			err = store.ErrNotFound
		}
	}
	return a, err
}

// RotateAuthorisation gives the authorisation of name a new secret; the
// old one stops working at once.
func (s *Service) RotateAuthorisation(ctx context.Context, caller Caller, a store.Authorisation) (NewAuthorisation, error) {
	tok, err := s.rotateToken(ctx, a.ClientID, authorisationSecret())
	s.auditAdmin(ctx, caller, "rotate the secret of authorisation "+a.Name, err)
	if err != nil {
		return NewAuthorisation{}, err
	}
	return NewAuthorisation{Authorisation: a, Secret: tok.Secret}, nil
}

// DeleteAuthorisation ends the authorisation of name and its token.
func (s *Service) DeleteAuthorisation(ctx context.Context, actor Caller, name string) error {
	err := s.deleteAuthorisation(ctx, name)
	s.auditAdmin(ctx, actor, "delete authorisation "+name, err)
	return err
}

func (s *Service) deleteAuthorisation(ctx context.Context, name string) error {
	id, err := Identifier(name)
	if err != nil {
		return invalid(fmt.Errorf("authorisation name: %w", err))
	}
	a, err := s.store.Authorisation(ctx, id)
	if err != nil {
		return invalid(err)
	}
	if err := s.store.RevokeToken(ctx, a.ClientID, s.now()); err != nil {
		return err
	}
	return s.store.DeleteAuthorisation(ctx, id)
}

// Authorisations lists the authorisations.
func (s *Service) Authorisations(ctx context.Context) ([]store.Authorisation, error) {
	return s.store.Authorisations(ctx)
}

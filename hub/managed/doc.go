// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package managed is the managed-challenge hub's model: principals and
// their roles, API tokens, challenge configs with their Domain Match Rules
// and DNS provider, the records the hub created, and the audit log. It
// decides who may present which value where; the front doors
// (hub/managed/doors/…) speak the clients' protocols, the providers
// (hub/managed/providers/…) write DNS, and hub/store keeps it all.
package managed

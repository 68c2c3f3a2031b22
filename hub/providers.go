// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package hub

// The DNS providers the hub offers: each registers itself with
// hub/managed/providers when imported. A new provider is one line here.
import (
	_ "github.com/acmehub/acmehub/hub/managed/providers/acmedns"
	_ "github.com/acmehub/acmehub/hub/managed/providers/akamai"
	_ "github.com/acmehub/acmehub/hub/managed/providers/azuredns"
	_ "github.com/acmehub/acmehub/hub/managed/providers/clouddns"
	_ "github.com/acmehub/acmehub/hub/managed/providers/cloudflare"
	_ "github.com/acmehub/acmehub/hub/managed/providers/digitalocean"
	_ "github.com/acmehub/acmehub/hub/managed/providers/rfc2136"
	_ "github.com/acmehub/acmehub/hub/managed/providers/route53"
	_ "github.com/acmehub/acmehub/hub/managed/providers/self"
)

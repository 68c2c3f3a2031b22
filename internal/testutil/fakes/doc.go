// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package fakes holds faithful fakes of the DNS providers' APIs the hub
// writes through (DigitalOcean, Cloudflare, Route 53, Google Cloud DNS,
// Azure DNS, Akamai Edge DNS), each an HTTPS server on loopback that the
// providers' own SDKs reach through HTTPS_PROXY (ProxyHTTPS,
// MainBehindProxy), recording the calls they take.
package fakes

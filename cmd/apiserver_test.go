// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"testing"

	restful "github.com/emicklei/go-restful/v3"
)

func TestPerResourceOperationIDs(t *testing.T) {
	upstream := func(r *restful.Route) (string, []string, error) {
		if r.Path == "/apis/acme.example.org/v1alpha1" {
			return "getAcmeExampleOrgV1alpha1APIResources", nil, nil
		}
		return "createAcmeExampleOrgV1alpha1ChallengePayload", []string{"acmeExampleOrg_v1alpha1"}, nil
	}
	ids := perResourceOperationIDs(upstream)
	seen := map[string]bool{}
	for path, want := range map[string]string{
		"/apis/acme.example.org/v1alpha1/acme-dns": "createAcmeExampleOrgV1alpha1ChallengePayloadAcmeDns",
		"/apis/acme.example.org/v1alpha1/hub":      "createAcmeExampleOrgV1alpha1ChallengePayloadHub",
		"/apis/acme.example.org/v1alpha1":          "getAcmeExampleOrgV1alpha1APIResources",
	} {
		id, _, err := ids(&restful.Route{Path: path})
		if err != nil || id != want || seen[id] {
			t.Errorf("%s: %q, %v; want %q, unique", path, id, err, want)
		}
		seen[id] = true
	}
}

// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/cert-manager/cert-manager/pkg/acme/webhook"
	whserver "github.com/cert-manager/cert-manager/pkg/acme/webhook/cmd/server"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	restful "github.com/emicklei/go-restful/v3"
	"github.com/spf13/cobra"
	"k8s.io/apiserver/pkg/server/healthz"
)

// newApiserverCommand is cert-manager's webhook apiserver command (flags,
// validation, serving) with one change: OpenAPI operation IDs that name
// each solver's resource. Every solver serves the same kind
// (ChallengePayload), so with two solvers the upstream IDs collide and the
// server refuses to start (cert-manager/cert-manager#7656). When ready is
// not nil, /readyz also asks it (the embedded server's health), so that one
// probe says whether the pod serves both challenges and DNS.
func newApiserverCommand(groupName string, ready func(context.Context) error, solvers ...webhook.Solver) *cobra.Command {
	o := whserver.NewWebhookServerOptions(groupName, solvers...)
	cmd := &cobra.Command{
		Short: "Launch an ACME solver API server",
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(args); err != nil {
				return err
			}
			config, err := o.Config()
			if err != nil {
				return err
			}
			completed := config.Complete()
			// Complete sets the OpenAPI configs the completed config shares.
			// cert-manager's webhook server sets GetOperationIDAndTags, not its
			// successor GetOperationIDAndTagsFromRoute: the one to wrap.
			for _, oc := range []*func(*restful.Route) (string, []string, error){
				&config.GenericConfig.OpenAPIConfig.GetOperationIDAndTags,   //nolint:staticcheck // SA1019: what cert-manager sets, see above
				&config.GenericConfig.OpenAPIV3Config.GetOperationIDAndTags, //nolint:staticcheck // SA1019: what cert-manager sets, see above
			} {
				*oc = perResourceOperationIDs(*oc)
			}
			server, err := completed.New()
			if err != nil {
				return err
			}
			if ready != nil {
				check := healthz.NamedCheck("acmehub-server", func(r *http.Request) error {
					ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
					defer cancel()
					return ready(ctx)
				})
				if err := server.GenericAPIServer.AddReadyzChecks(check); err != nil {
					return err
				}
			}
			return server.GenericAPIServer.PrepareRun().RunWithContext(c.Context())
		},
	}
	// Without --tls-cert-file or --cert-dir, a self-signed certificate is
	// kept in memory: nothing is written into the working directory.
	o.RecommendedOptions.SecureServing.ServerCert.CertDirectory = ""
	logf.AddFlags(o.Logging, cmd.Flags())
	o.RecommendedOptions.AddFlags(cmd.Flags())
	return cmd
}

// perResourceOperationIDs appends the resource (the solver's name) to the
// operation IDs of the solvers' routes.
func perResourceOperationIDs(next func(*restful.Route) (string, []string, error)) func(*restful.Route) (string, []string, error) {
	return func(r *restful.Route) (string, []string, error) {
		id, tags, err := next(r)
		if err == nil && strings.HasSuffix(id, "ChallengePayload") {
			for _, word := range strings.FieldsFunc(path.Base(r.Path), func(c rune) bool { return c == '-' || c == '_' || c == '.' }) {
				id += strings.ToUpper(word[:1]) + word[1:]
			}
		}
		return id, tags, err
	}
}

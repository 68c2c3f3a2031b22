// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/managed/providers/self"
	"github.com/acmehub/acmehub/hub/store"
)

func newAdminConfigs(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "configs", Short: "Managed challenge configs: provider, zone, Domain Match Rules"}
	var (
		in          managed.ConfigInput
		credsFile   string
		nameservers []string
	)
	put := f.command("put", "Create or replace a config (its credentials are sealed before they are stored)", cobra.NoArgs,
		func(ctx context.Context, svc *managed.Service, _ string) (result, error) {
			if credsFile != "" {
				data, err := os.ReadFile(credsFile)
				if err != nil {
					return result{}, fmt.Errorf("--credentials-file: %w", err)
				}
				in.Credentials = data
			}
			in.Propagation = providers.PropagationSettings{Nameservers: nameservers}.String()
			c, err := svc.PutConfig(ctx, actor(), in)
			return result{Value: viewConfig(c), Text: fmt.Sprintf("config %s: %s in zone %s for %s", c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " "))}, err
		})
	pf := put.Flags()
	pf.StringVar(&in.ID, "id", "", "config ID (required)")
	pf.StringVar(&in.Title, "title", "", "title")
	pf.StringVar(&in.Provider, "provider", self.Name, "DNS provider: "+strings.Join(providers.Names(), ", "))
	pf.StringVar(&in.Zone, "zone", "", "the zone the provider writes in (required)")
	mustRequire(put, "id", "zone")
	pf.StringSliceVar(&in.Rules, "rule", nil, "Domain Match Rule: example.com, *.example.com, .example.com, !name (repeat)")
	pf.IntVar(&in.TTL, "ttl", 60, "TTL of the records, seconds")
	pf.BoolVar(&in.AllowCNAME, "allow-cname", false, "accept the target of _acme-challenge.<name>'s CNAME as the record")
	pf.StringVar(&credsFile, "credentials-file", "", "the provider's credentials, a JSON object: "+providers.CredentialsHelp())
	pf.StringSliceVar(&nameservers, "nameserver", nil, "host:port of a name server that must serve a value before it counts as presented "+
		"(repeat; default: the zone's NS records)")
	list := f.command("list", "List configs (never their credentials)", cobra.NoArgs, func(_ context.Context, svc *managed.Service, _ string) (result, error) {
		r := result{Value: []configView{}, Header: "ID\tPROVIDER\tZONE\tRULES\tTTL\tCNAME\tTITLE"}
		for _, c := range svc.Configs() {
			r.Rows = append(r.Rows, []string{c.ID, c.Provider, c.Zone, strings.Join(c.Rules, " "), fmt.Sprint(c.TTL), fmt.Sprint(c.AllowCNAME), c.Title})
			r.Value = append(r.Value.([]configView), viewConfig(c))
		}
		return r, nil
	})
	del := f.command("delete ID", "Delete a config", cobra.ExactArgs(1), func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
		err := svc.DeleteConfig(ctx, actor(), arg)
		return result{Value: map[string]any{"id": arg, "deleted": true}, Text: "config " + arg + " deleted"}, err
	})
	test := f.command("test ID", "Check a config's provider credentials against its zone", cobra.ExactArgs(1),
		func(ctx context.Context, svc *managed.Service, arg string) (result, error) {
			err := svc.TestConfig(ctx, actor(), arg)
			return result{Value: map[string]any{"id": arg, "ok": true}, Text: "config " + arg + ": the provider accepts its credentials"}, err
		})
	cmd.AddCommand(put, list, del, test)
	return cmd
}

// configView is a config as the commands print it: never its
// credentials, only whether it has some and which key sealed them.
type configView struct {
	ID, Title, ChallengeType, Provider string
	HasCredentials                     bool
	SealedWith                         string
	Zone                               string
	Rules                              []string
	TTL                                int
	Nameservers                        []string
	AllowCNAME                         bool
	Created, Updated                   time.Time
}

func viewConfig(c store.ChallengeConfig) configView {
	p, _ := providers.ParsePropagation(c.Propagation)
	return configView{ID: c.ID, Title: c.Title, ChallengeType: c.ChallengeType, Provider: c.Provider, HasCredentials: len(c.Credentials) > 0,
		SealedWith: c.KeyID, Zone: c.Zone, Rules: c.Rules, TTL: c.TTL, Nameservers: p.Nameservers, AllowCNAME: c.AllowCNAME,
		Created: c.Created, Updated: c.Updated}
}

func newAdminProviders(f *adminFlags) *cobra.Command {
	return &cobra.Command{Use: "providers", Short: "List the DNS providers configs may use, with their credentials", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type shown struct {
				Name, Description string
				Credentials       []providers.Field
			}
			r := result{Value: []shown{}, Header: "PROVIDER\tCREDENTIALS\tWRITES"}
			for _, p := range providers.All() {
				r.Value = append(r.Value.([]shown), shown{p.Name, p.Description, p.Credentials})
				var fields []string
				for _, fl := range p.Credentials {
					fields = append(fields, fl.Name)
				}
				r.Rows = append(r.Rows, []string{p.Name, cmp.Or(strings.Join(fields, ", "), "-"), p.Description})
			}
			return f.output.print(cmd.OutOrStdout(), r)
		}}
}

// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package clouddns

import (
	"context"
	"fmt"
	"strings"

	"github.com/libdns/libdns"
	clouddns "google.golang.org/api/dns/v1"

	"github.com/acmehub/acmehub/hub/managed/providers"
)

// cnameTTL is the TTL of the CNAMEs the hub writes: they stay for years.
const cnameTTL = 3600

// CNAME returns the target of the CNAME record set at name.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	sets, err := p.setsAt(ctx, zone, name)
	if err != nil {
		return "", err
	}
	for _, s := range sets {
		if s.Type == "CNAME" && len(s.Rrdatas) == 1 {
			return strings.ToLower(strings.TrimSuffix(s.Rrdatas[0], ".")), nil
		}
	}
	return "", nil
}

// SetCNAME adds the CNAME record set unless a set holds the name; Cloud
// DNS refuses a CNAME beside other sets too, and the read first says which.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	sets, err := p.setsAt(ctx, zone, name)
	if err != nil {
		return err
	}
	fqdn := fqdnOf(zone, name)
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	if len(sets) > 0 {
		// A CNAME shares its name with no other set: the first says it all.
		s := sets[0]
		if s.Type == "CNAME" && len(s.Rrdatas) == 1 && strings.EqualFold(strings.TrimSuffix(s.Rrdatas[0], "."), target) {
			return nil
		}
		return fmt.Errorf("%s: %w: a %s record set (%s)", strings.TrimSuffix(fqdn, "."), providers.ErrNameTaken, s.Type, strings.Join(s.Rrdatas, " "))
	}
	add := &clouddns.ResourceRecordSet{Name: fqdn, Type: "CNAME", Ttl: cnameTTL, Rrdatas: []string{target + "."}}
	return p.change(ctx, &clouddns.Change{Additions: []*clouddns.ResourceRecordSet{add}}, "creating the CNAME "+strings.TrimSuffix(fqdn, "."))
}

// DeleteCNAME deletes the CNAME record set at name when it points at
// target.
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	sets, err := p.setsAt(ctx, zone, name)
	if err != nil {
		return err
	}
	for _, s := range sets {
		if s.Type == "CNAME" && len(s.Rrdatas) == 1 && strings.EqualFold(strings.TrimSuffix(s.Rrdatas[0], "."), strings.TrimSuffix(target, ".")) {
			return p.change(ctx, &clouddns.Change{Deletions: []*clouddns.ResourceRecordSet{s}}, "deleting the CNAME "+strings.TrimSuffix(s.Name, "."))
		}
	}
	return nil
}

// setsAt lists the managed zone's record sets at name.
func (p *Writer) setsAt(ctx context.Context, zone, name string) ([]*clouddns.ResourceRecordSet, error) {
	fqdn := fqdnOf(zone, name)
	out, err := p.svc.ResourceRecordSets.List(p.project, p.managedZone).Name(fqdn).Context(ctx).Do()
	if err != nil {
		return nil, providers.Explain("listing the record sets at "+strings.TrimSuffix(fqdn, "."), err)
	}
	return out.Rrsets, nil
}

func (p *Writer) change(ctx context.Context, c *clouddns.Change, what string) error {
	if _, err := p.svc.Changes.Create(p.project, p.managedZone, c).Context(ctx).Do(); err != nil {
		return providers.Explain(what, err)
	}
	return nil
}

// fqdnOf is name in zone, lower case, with the trailing dot.
func fqdnOf(zone, name string) string {
	return strings.ToLower(libdns.AbsoluteName(name, zone))
}

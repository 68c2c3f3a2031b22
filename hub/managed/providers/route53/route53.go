// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package route53 writes TXT records in an Amazon Route 53 hosted zone
// through the AWS SDK for Go. Route 53 keeps all TXT values of a name in
// one record set, and cert-manager's own Route 53 solver replaces that set
// with its one value: here a value is added to the set and removed from
// it, so several clients' values at one name coexist. Each change deletes
// the set exactly as it was read and creates the new one, in one atomic
// batch: when another writer changed the set in between, Route 53 refuses
// the batch and the change is made again on what is there now.
// Credentials are an access key, or the ambient ones (environment, web
// identity, instance role); a role may be assumed on top.
package route53

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/libdns/libdns"

	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

// Name is the provider's name in a config.
const Name = "route53"

func init() {
	providers.Register(providers.Provider{
		Name:        Name,
		Description: "TXT values added to and removed from a record set of an Amazon Route 53 hosted zone",
		Credentials: []providers.Field{
			{Name: "access_key_id", Help: "an access key with route53:ListHostedZonesByName, ListResourceRecordSets and ChangeResourceRecordSets; empty: the ambient credentials"},
			{Name: "secret_access_key", Help: "the access key's secret", Secret: true},
			{Name: "region", Help: "the AWS region the credentials are for (Route 53 is global; default us-east-1)"},
			{Name: "hosted_zone_id", Help: "the hosted zone's ID; empty: found by the config's zone"},
			{Name: "role", Help: "the ARN of a role to assume with those credentials"},
		},
		New: func(_ providers.Env, _ store.ChallengeConfig, credentials []byte) (providers.Writer, error) {
			return New(context.Background(), credentials)
		},
	})
}

// Credentials are a config's credentials for Route 53.
type Credentials struct {
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	Region          string `json:"region,omitempty"`
	HostedZoneID    string `json:"hosted_zone_id,omitempty"`
	Role            string `json:"role,omitempty"`
}

// attempts bounds how often a change is made again when another writer
// changed the record set between its read and the change.
const attempts = 5

// Writer writes TXT records in a Route 53 hosted zone.
type Writer struct {
	api    *route53.Client
	zoneID string // from the credentials, or found once

	mu    sync.Mutex
	zones map[string]string // zone name → hosted zone ID
}

// New makes a provider from a config's credentials (JSON, see Credentials).
func New(ctx context.Context, raw []byte) (*Writer, error) {
	var c Credentials
	if err := providers.Decode(raw, &c, `{"access_key_id", "secret_access_key", "region", "hosted_zone_id", "role"} (all optional)`); err != nil {
		return nil, err
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return nil, errors.New("credentials: access_key_id and secret_access_key go together (neither: the ambient credentials)")
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(cmpOr(c.Region, "us-east-1"))}
	if c.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if c.Role != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), c.Role))
	}
	return &Writer{api: route53.NewFromConfig(cfg), zoneID: strings.TrimPrefix(c.HostedZoneID, "/hostedzone/"), zones: map[string]string{}}, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AppendRecords adds each TXT value to its name's record set.
func (p *Writer) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return providers.AppendToSets(ctx, p, zone, recs)
}

// DeleteRecords removes each TXT value from its name's record set; the
// others stay. A value already gone is no error.
func (p *Writer) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return providers.DeleteFromSets(ctx, p, zone, recs)
}

// Test checks the credentials against the zone: they find its hosted zone
// and may list its record sets (reads).
func (p *Writer) Test(ctx context.Context, zone string) error {
	id, err := p.hostedZone(ctx, zone)
	if err == nil {
		_, err = p.api.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: &id, MaxItems: aws.Int32(1)})
	}
	if err != nil {
		return providers.Explain("reading hosted zone "+strings.TrimSuffix(zone, "."), err)
	}
	return nil
}

// ChangeSet sets the values of rr's name to edit(the values there now): the
// set as it was read is deleted and the new one created in one batch,
// made again on a fresh read when Route 53 finds the set changed since.
func (p *Writer) ChangeSet(ctx context.Context, zone string, rr libdns.RR, edit func([]string) []string) error {
	id, err := p.hostedZone(ctx, zone)
	if err != nil {
		return err
	}
	name := strings.ToLower(libdns.AbsoluteName(rr.Name, zone))
	for attempt := 1; ; attempt++ {
		current, err := p.txt(ctx, id, name)
		if err != nil {
			return err
		}
		var values []string
		if current != nil {
			for _, r := range current.ResourceRecords {
				values = append(values, providers.UnquoteTXT(aws.ToString(r.Value)))
			}
		}
		next := edit(slices.Clone(values))
		if slices.Equal(next, values) {
			return nil
		}
		var changes []types.Change
		if current != nil {
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: current})
		}
		if len(next) > 0 {
			set := &types.ResourceRecordSet{Name: &name, Type: types.RRTypeTxt, TTL: aws.Int64(max(int64(rr.TTL.Seconds()), 1))}
			for _, v := range next {
				set.ResourceRecords = append(set.ResourceRecords, types.ResourceRecord{Value: aws.String(providers.QuoteTXT(v))})
			}
			changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: set})
		}
		_, err = p.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: &id,
			ChangeBatch: &types.ChangeBatch{Changes: changes, Comment: aws.String("acmehub")}})
		var conflict *types.InvalidChangeBatch
		if errors.As(err, &conflict) && attempt < attempts && raced(conflict) {
			continue
		}
		return withBatchMessages(err)
	}
}

// raced reports a batch refused because the record set changed after it
// was read.
func raced(e *types.InvalidChangeBatch) bool {
	for _, m := range e.Messages {
		if strings.Contains(m, "already exists") || strings.Contains(m, "do not match") || strings.Contains(m, "not found") {
			return true
		}
	}
	return false
}

// txt returns the TXT record set at name, or nil.
func (p *Writer) txt(ctx context.Context, zoneID, name string) (*types.ResourceRecordSet, error) {
	out, err := p.api.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: &zoneID,
		StartRecordName: &name, StartRecordType: types.RRTypeTxt, MaxItems: aws.Int32(1)})
	if err != nil {
		return nil, err
	}
	for _, s := range out.ResourceRecordSets {
		if s.Type == types.RRTypeTxt && strings.EqualFold(strings.TrimSuffix(aws.ToString(s.Name), "."), strings.TrimSuffix(name, ".")) {
			return &s, nil
		}
	}
	return nil, nil
}

// hostedZone returns the ID of zone's hosted zone: the credentials', or
// the public one of that name, looked up once.
func (p *Writer) hostedZone(ctx context.Context, zone string) (string, error) {
	if p.zoneID != "" {
		return p.zoneID, nil
	}
	zone = strings.ToLower(strings.TrimSuffix(zone, ".")) + "."
	p.mu.Lock()
	id, ok := p.zones[zone]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	out, err := p.api.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: &zone})
	if err != nil {
		return "", err
	}
	for _, z := range out.HostedZones {
		if strings.EqualFold(aws.ToString(z.Name), zone) && (z.Config == nil || !z.Config.PrivateZone) {
			id = strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/")
			p.mu.Lock()
			p.zones[zone] = id
			p.mu.Unlock()
			return id, nil
		}
	}
	return "", fmt.Errorf("no public hosted zone %s for these credentials (set hosted_zone_id for a private one)", zone)
}

// withBatchMessages is err with the messages of a refused change batch,
// which Route 53's error text leaves out.
func withBatchMessages(err error) error {
	var batch *types.InvalidChangeBatch
	if errors.As(err, &batch) && len(batch.Messages) > 0 {
		return fmt.Errorf("%w: %s", err, strings.Join(batch.Messages, "; "))
	}
	return err
}

// cnameTTL is the TTL of the CNAMEs the hub writes: they stay for years.
const cnameTTL = 3600

// CNAME returns the target of the CNAME record set at name.
func (p *Writer) CNAME(ctx context.Context, zone, name string) (string, error) {
	_, sets, err := p.setsAt(ctx, zone, name)
	if err != nil {
		return "", err
	}
	for _, s := range sets {
		if s.Type == types.RRTypeCname && len(s.ResourceRecords) == 1 {
			return strings.ToLower(strings.TrimSuffix(aws.ToString(s.ResourceRecords[0].Value), ".")), nil
		}
	}
	return "", nil
}

// SetCNAME creates the CNAME record set unless a set holds the name;
// Route 53 refuses a CNAME beside other sets too, and the read first says
// which.
func (p *Writer) SetCNAME(ctx context.Context, zone, name, target string) error {
	id, sets, err := p.setsAt(ctx, zone, name)
	if err != nil {
		return err
	}
	fqdn := strings.TrimSuffix(strings.ToLower(libdns.AbsoluteName(name, zone)), ".")
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	if len(sets) > 0 {
		// A CNAME shares its name with no other set: the first says it all.
		var values []string
		for _, r := range sets[0].ResourceRecords {
			values = append(values, strings.TrimSuffix(aws.ToString(r.Value), "."))
		}
		if sets[0].Type == types.RRTypeCname && len(values) == 1 && strings.EqualFold(values[0], target) {
			return nil
		}
		return fmt.Errorf("%s: %w: a %s record set (%s)", fqdn, providers.ErrNameTaken, sets[0].Type, strings.Join(values, " "))
	}
	set := &types.ResourceRecordSet{Name: aws.String(fqdn + "."), Type: types.RRTypeCname, TTL: aws.Int64(cnameTTL),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(target + ".")}}}
	return p.changeSets(ctx, id, "creating the CNAME "+fqdn, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: set})
}

// DeleteCNAME deletes the CNAME record set at name when it points at
// target.
func (p *Writer) DeleteCNAME(ctx context.Context, zone, name, target string) error {
	id, sets, err := p.setsAt(ctx, zone, name)
	if err != nil {
		return err
	}
	for _, s := range sets {
		if s.Type == types.RRTypeCname && len(s.ResourceRecords) == 1 &&
			strings.EqualFold(strings.TrimSuffix(aws.ToString(s.ResourceRecords[0].Value), "."), strings.TrimSuffix(target, ".")) {
			return p.changeSets(ctx, id, "deleting the CNAME "+aws.ToString(s.Name), types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &s})
		}
	}
	return nil
}

// setsAt returns the hosted zone's ID and the record sets at name.
func (p *Writer) setsAt(ctx context.Context, zone, name string) (string, []types.ResourceRecordSet, error) {
	id, err := p.hostedZone(ctx, zone)
	if err != nil {
		return "", nil, err
	}
	fqdn := strings.ToLower(libdns.AbsoluteName(name, zone))
	out, err := p.api.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: &id, StartRecordName: &fqdn, MaxItems: aws.Int32(20)})
	if err != nil {
		return "", nil, providers.Explain("listing the record sets at "+strings.TrimSuffix(fqdn, "."), err)
	}
	var sets []types.ResourceRecordSet
	for _, s := range out.ResourceRecordSets {
		if strings.EqualFold(strings.TrimSuffix(aws.ToString(s.Name), "."), strings.TrimSuffix(fqdn, ".")) {
			sets = append(sets, s)
		}
	}
	return id, sets, nil
}

// changeSets applies one change, with what it attempted and Route 53's
// messages in its error.
func (p *Writer) changeSets(ctx context.Context, id, what string, change types.Change) error {
	_, err := p.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: &id,
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{change}, Comment: aws.String("acmehub")}})
	if err != nil {
		return providers.Explain(what, withBatchMessages(err))
	}
	return nil
}

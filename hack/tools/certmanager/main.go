// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command certmanager is cert-manager's controller for the end-to-end
// tests: the upstream ACME control loops (Issuers, Certificates,
// CertificateRequests, Orders, Challenges) from cert-manager's own packages,
// wired as its controller binary wires them. The binary's command module is
// not served by the module proxy; its control loops are.
//
// Only the ACME issuer's loops are linked: no ingress or Gateway shims, no
// CA, Vault or Venafi issuers, no CertificateSigningRequests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"k8s.io/klog/v2"

	// Each registers its control loop with controllerpkg.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The ACME issuer itself.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
)

func main() {
	var (
		kubeconfig  = flag.String("kubeconfig", "", "kubeconfig of the cluster")
		clusterNS   = flag.String("cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuers' Secrets")
		nameservers = flag.String("dns01-recursive-nameservers", "", "host:port,… asked for the DNS-01 self-check")
		retry       = flag.Duration("dns01-check-retry-period", 10*time.Second, "wait between DNS-01 self-checks")
		workers     = flag.Int("concurrent-workers", 5, "workers per control loop")
		challenges  = flag.Int("max-concurrent-challenges", 60, "challenges processed at once")
	)
	klog.InitFlags(nil)
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "cert-manager")
	if err := run(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: *clusterNS},
		ACMEOptions: controllerpkg.ACMEOptions{
			DNS01Nameservers:      split(*nameservers),
			DNS01CheckRetryPeriod: *retry,
		},
		CertificateOptions: controllerpkg.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controllerpkg.SchedulerOptions{MaxConcurrentChallenges: *challenges},
	}, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "certmanager:", err)
		os.Exit(1)
	}
}

// run builds every registered control loop, starts the shared informers
// they registered with, and runs them until ctx ends.
func run(ctx context.Context, opts controllerpkg.ContextOptions, workers int) error {
	factory, err := controllerpkg.NewContextFactory(ctx, opts)
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}
	var loops []controllerpkg.Interface
	for name, constructor := range controllerpkg.Known() {
		loop, err := constructor(factory)
		if err != nil {
			return fmt.Errorf("control loop %s: %w", name, err)
		}
		loops = append(loops, loop)
	}
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.SharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	var wg sync.WaitGroup
	errs := make(chan error, len(loops))
	for _, loop := range loops {
		wg.Go(func() { errs <- loop.Run(workers, ctx) })
	}
	fmt.Println("cert-manager controller started")
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func split(list string) []string {
	var out []string
	for s := range strings.SplitSeq(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

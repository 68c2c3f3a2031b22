// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command certmanager is cert-manager's controller for the end-to-end
// tests: the upstream ACME control loops (Issuers, Certificates,
// CertificateRequests, Orders, Challenges) from cert-manager's own packages,
// wired as its controller binary wires them. The binary's command module is
// not served by the module proxy; its control loops are.
//
// The ACME, CA and self-signed issuers' loops are linked (the chart's PKI
// needs the latter two): no ingress or Gateway shims, no Vault or Venafi
// issuers, no CertificateSigningRequests. With --cainjector it also runs
// cert-manager's CA injector for APIServices, as the cainjector binary
// does, for the one-node cluster where the chart's APIService is real.
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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	// Each registers its control loop with controllerpkg.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The issuers themselves.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	var (
		clusterNS   = flag.String("cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuers' Secrets")
		nameservers = flag.String("dns01-recursive-nameservers", "", "host:port,… asked for the DNS-01 self-check")
		retry       = flag.Duration("dns01-check-retry-period", 10*time.Second, "wait between DNS-01 self-checks")
		workers     = flag.Int("concurrent-workers", 5, "workers per control loop")
		challenges  = flag.Int("max-concurrent-challenges", 60, "challenges processed at once")
		injector    = flag.Bool("cainjector", false, "also inject CAs into APIServices (cert-manager.io/inject-ca-from)")
	)
	klog.InitFlags(nil)
	flag.Parse()
	// --kubeconfig: controller-runtime's config package defines it.
	kubeconfig := flag.Lookup("kubeconfig").Value.String()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "cert-manager")
	if *injector {
		go func() {
			if err := runCAInjector(ctx, kubeconfig); err != nil {
				fmt.Fprintln(os.Stderr, "certmanager: cainjector:", err)
				os.Exit(1)
			}
		}()
	}
	if err := run(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfig,
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

// runCAInjector runs cert-manager's CA injector for APIServices.
func runCAInjector(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// Its server-side apply names its field manager after the user agent.
	cfg.UserAgent = "cert-manager-cainjector"
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apireg.AddToScheme, apiext.AddToScheme, cmapi.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	ctrl.SetLogger(klog.Background())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return err
	}
	if err := cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor:        map[string]bool{cainjector.APIServiceName: true},
	}); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

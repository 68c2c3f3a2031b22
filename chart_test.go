//go:build chart

// The Helm chart, deploy/charts/acmehub: linted, rendered for the default
// values and each values file of its ci/ folder, checked for what users
// depend on, and every object of every render server-side applied (dry run)
// to a real kube-apiserver with cert-manager's CRDs. Needs $TEST_ASSET_HELM
// and the control plane of `make test-assets`: `make test-chart` runs it.
package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const chartDir = "deploy/charts/acmehub"

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := os.Getenv("TEST_ASSET_HELM")
	if bin == "" {
		t.Fatal("$TEST_ASSET_HELM is not set: run `make test-chart`")
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		return out.String(), errors.New(strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// render renders the chart with a values file and returns its objects.
func render(t *testing.T, values string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "acmehub", chartDir, "--namespace", "acmehub", "--kube-version", "1.36.3", "-f", values}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template -f %s: %v", values, err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if len(o) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: o})
		}
	}
}

func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	return files
}

func TestChartLint(t *testing.T) {
	for _, f := range valuesFiles(t) {
		if out, err := helm(t, "lint", "--strict", chartDir, "-f", f); err != nil {
			t.Errorf("helm lint --strict -f %s: %v\n%s", f, err, out)
		}
	}
}

// podTemplate returns the pod template of a workload, or nil.
func podTemplate(o *unstructured.Unstructured) map[string]any {
	switch o.GetKind() {
	case "Deployment", "Job", "StatefulSet", "DaemonSet":
		spec, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
		return spec
	case "CronJob":
		spec, _, _ := unstructured.NestedMap(o.Object, "spec", "jobTemplate", "spec", "template", "spec")
		return spec
	}
	return nil
}

func TestChartRendersWhatUsersDependOn(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			pods := 0
			for _, o := range render(t, f) {
				spec := podTemplate(o)
				if spec == nil {
					continue
				}
				pods++
				if nonRoot, _, _ := unstructured.NestedBool(spec, "securityContext", "runAsNonRoot"); !nonRoot {
					t.Errorf("%s %s: pod not runAsNonRoot", o.GetKind(), o.GetName())
				}
				if p, _, _ := unstructured.NestedString(spec, "securityContext", "seccompProfile", "type"); p != "RuntimeDefault" {
					t.Errorf("%s %s: seccomp profile %q", o.GetKind(), o.GetName(), p)
				}
				containers, _, _ := unstructured.NestedSlice(spec, "containers")
				for _, c := range containers {
					c := c.(map[string]any)
					if ro, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !ro {
						t.Errorf("%s %s: container %v has a writable root", o.GetKind(), o.GetName(), c["name"])
					}
					if drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
						t.Errorf("%s %s: capabilities dropped %q", o.GetKind(), o.GetName(), drop)
					}
					if strings.HasSuffix(f, "everything-values.yaml") && c["image"] != "registry.internal.example/mirror/acmehub@sha256:0000000000000000000000000000000000000000000000000000000000000000" {
						t.Errorf("image %v not relocated to the private registry by digest", c["image"])
					}
				}
				if strings.HasSuffix(f, "everything-values.yaml") {
					secrets, _, _ := unstructured.NestedSlice(spec, "imagePullSecrets")
					if len(secrets) != 1 || secrets[0].(map[string]any)["name"] != "internal-registry" {
						t.Errorf("%s %s: imagePullSecrets %v", o.GetKind(), o.GetName(), secrets)
					}
				}
			}
			if pods == 0 {
				t.Error("no pod template rendered")
			}
		})
	}
	refused := map[string][]string{
		"groupName is required":                         {"groupName="},
		"server.domain is required":                     {"server.domain="},
		"replicaCount > 1 needs a database":             {"replicaCount=2"},
		"at '/mode': value must be one of":              {"mode=server-only"},
		"needs server.registration.passwordSecret.name": {"server.registration.user=reg"},
		"additional properties 'sever' not allowed":     {"sever.domain=typo.example"},
		"at '/webhook/delegationCheck'":                 {"webhook.delegationCheck=strict"},
		"at '/replicaCount'":                            {"replicaCount=many"},
	}
	for want, set := range refused {
		args := []string{"template", "acmehub", chartDir, "--kube-version", "1.36.3", "-f", filepath.Join(chartDir, "ci", "default-values.yaml")}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if _, err := helm(t, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--set %v: %v, want an error saying %q", set, err, want)
		}
	}
}

// TestChartAppliesToKubeAPIServer server-side applies every rendered object,
// as a dry run, to a real kube-apiserver that has cert-manager's CRDs.
func TestChartAppliesToKubeAPIServer(t *testing.T) {
	crds, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(strings.TrimSpace(string(crds)), "deploy", "crds")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() { env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(cfg)
	for _, ns := range []string{"acmehub", "cert-manager", "team-a", "team-b"} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))
	for _, f := range valuesFiles(t) {
		for _, o := range render(t, f) {
			gvk := o.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Errorf("%s: %s %s: %v", filepath.Base(f), gvk, o.GetName(), err)
				continue
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if m.Scope.Name() == meta.RESTScopeNameNamespace {
				ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
			}
			_, err = ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "chart-test", DryRun: []string{metav1.DryRunAll}, Force: true})
			if err != nil {
				t.Errorf("%s: %s %s/%s refused: %v", filepath.Base(f), o.GetKind(), o.GetNamespace(), o.GetName(), err)
			}
		}
	}
}

// Command kstatus computes kstatus results (sigs.k8s.io/cli-utils/pkg/kstatus/status,
// the library behind Flux's health checks, kpt and `kstatus wait`) for our
// objects, so tests can check what those tools conclude from the status the
// operator writes.
//
// Live objects, read from the API server named by a kubeconfig:
//
//	kstatus --kubeconfig K --api-version okr.dev/v1alpha1 --resource keyresults -n NS NAME...
//
// or objects given as a stream of JSON documents on stdin (no NAME arguments).
// It prints one JSON line per object: {"name","status","message","conditions"},
// status being one of InProgress, Failed, Current, Terminating, NotFound, Unknown.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type line struct {
	Name       string             `json:"name"`
	Status     string             `json:"status"`
	Message    string             `json:"message"`
	Conditions []status.Condition `json:"conditions"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server")
	apiVersion := flag.String("api-version", "okr.dev/v1alpha1", "group/version of the objects")
	resource := flag.String("resource", "keyresults", "plural resource name")
	namespace := flag.String("n", "", "namespace (empty for cluster-scoped)")
	flag.Parse()

	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	emit := func(l line) {
		if err := enc.Encode(l); err != nil {
			fail("stdout: %v", err)
		}
	}

	if flag.NArg() == 0 {
		dec := json.NewDecoder(bufio.NewReader(os.Stdin))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				return
			} else if err != nil {
				fail("stdin: %v", err)
			}
			// UnmarshalJSON decodes numbers as Kubernetes does (int64 for integers),
			// which kstatus's NestedInt64 lookups of generations rely on.
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(raw); err != nil {
				fail("stdin: %v", err)
			}
			emit(compute(u))
		}
	}

	gv, err := schema.ParseGroupVersion(*apiVersion)
	if err != nil {
		fail("--api-version: %v", err)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail("kubeconfig %s: %v", *kubeconfig, err)
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		fail("client: %v", err)
	}
	objects := client.Resource(gv.WithResource(*resource)).Namespace(*namespace)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range flag.Args() {
		u, err := objects.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			emit(line{Name: name, Status: string(status.NotFoundStatus), Message: err.Error()})
			continue
		} else if err != nil {
			fail("get %s %s: %v", *resource, name, err)
		}
		emit(compute(u))
	}
}

func compute(u *unstructured.Unstructured) line {
	res, err := status.Compute(u)
	if err != nil {
		return line{Name: u.GetName(), Status: string(status.UnknownStatus), Message: err.Error()}
	}
	conditions := res.Conditions
	if conditions == nil {
		conditions = []status.Condition{}
	}
	return line{Name: u.GetName(), Status: string(res.Status), Message: res.Message, Conditions: conditions}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kstatus: "+format+"\n", args...)
	os.Exit(1)
}

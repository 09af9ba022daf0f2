// Command kubeconfig-check loads a kubeconfig the way istiod loads the one
// inside a remote secret (client-go's clientcmd) and prints what it found,
// never the credential itself. meshgen's tests run it on the kubeconfigs of
// generated remote secrets.
package main

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kubeconfig-check FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cc, err := clientcmd.NewClientConfigFromBytes(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	raw, err := cc.RawConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "raw:", err)
		os.Exit(1)
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "client config:", err)
		os.Exit(1)
	}
	fmt.Printf("context: %s\nserver: %s\nca: %d bytes\nbearer token: %t\n",
		raw.CurrentContext, rc.Host, len(rc.TLSClientConfig.CAData), rc.BearerToken != "")
}

// Command tacit is an authentication server whose account flows never
// reveal whether an email address has an account.
//
// Run "tacit help" for its commands and settings.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGINT and SIGTERM cancel the context; serve then shuts down
	// gracefully. A second signal kills the process as usual, because
	// stop restores the default handling once run has returned.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Command specgate stops breaking API changes before they merge, by
// watching traffic instead of reading code.
package main

import (
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and turns its outcome into an exit code:
// 0 success, 2 usage or input error, or the code an action asked for.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr, signals: sig}
	return app.execute(args)
}

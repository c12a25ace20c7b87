package fault

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// PanicError is a panic recovered on a goroutine, with the stack where it happened. A panic
// is a bug in sgdlab, never the user's mistake: it travels up as this error (or is raised
// again on the caller's goroutine by Group.Wait), so that the front end can report it in one
// line, with the stack only when asked for it, instead of the runtime killing the process
// with a trace from a worker.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("internal error: %v", p.Value) }

// Recovered converts a value returned by recover() into a *PanicError (nil stays nil; a
// *PanicError raised again keeps its original stack).
func Recovered(r any) *PanicError {
	switch p := r.(type) {
	case nil:
		return nil
	case *PanicError:
		return p
	}
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// Catch turns a panic of the calling goroutine into *err. Use it deferred, first thing in a
// goroutine that returns an error: defer fault.Catch(&err).
func Catch(err *error) {
	if p := Recovered(recover()); p != nil {
		*err = p
	}
}

// Group runs functions on goroutines and waits for them; a panic on one of them is recovered
// there and raised again by Wait on the caller's goroutine, where the command's own recovery
// sees it. The zero value is ready to use.
type Group struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	first *PanicError
}

// Go runs fn on a new goroutine.
func (g *Group) Go(fn func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			if p := Recovered(recover()); p != nil {
				g.mu.Lock()
				if g.first == nil {
					g.first = p
				}
				g.mu.Unlock()
			}
		}()
		fn()
	}()
}

// Wait waits for every function and panics with the first recovered panic, if any.
func (g *Group) Wait() {
	g.wg.Wait()
	if g.first != nil {
		panic(g.first)
	}
}

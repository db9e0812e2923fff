package testdocker

import "sync"

// Parallel runs f(0..n-1) on workers goroutines, so that API calls to a
// daemon come as a burst, and returns the first error (every call is made
// even after one fails).
func Parallel(n, workers int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs // nil when closed empty
}

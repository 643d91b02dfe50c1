package retry

import "errors"

// MaxRetries is how many times Do calls the operation before giving up.
const MaxRetries = 5

// ErrGaveUp is returned when every attempt failed.
var ErrGaveUp = errors.New("retry: gave up")

// Do calls op until it succeeds or MaxRetries attempts have failed.
func Do(op func(attempt int) error) (int, error) {
	for attempt := 1; attempt <= MaxRetries; attempt++ {
		if err := op(attempt); err == nil {
			return attempt, nil
		}
	}
	return MaxRetries, ErrGaveUp
}

package client

import (
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c := NewClient("http://127.0.0.1:7000")
	if c.Retries != 3 {
		t.Fatalf("Retries = %d, want 3", c.Retries)
	}
	if c.Timeout != 30*time.Second {
		t.Fatalf("Timeout = %v", c.Timeout)
	}
	if c.WithTimeout(time.Second).Retries != 3 {
		t.Fatal("WithTimeout lost the retries")
	}
}

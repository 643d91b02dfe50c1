package client

import "time"

// Client holds the settings for talking to the sync server.
type Client struct {
	BaseURL string
	Retries int
	Timeout time.Duration
}

// NewClient returns a client with the default settings.
func NewClient(baseURL string) *Client {
	return &Client{
		BaseURL: baseURL,
		Retries: 1,
		Timeout: 30 * time.Second,
	}
}

// WithTimeout returns a copy of c with a different timeout.
func (c *Client) WithTimeout(d time.Duration) *Client {
	cp := *c
	cp.Timeout = d
	return &cp
}

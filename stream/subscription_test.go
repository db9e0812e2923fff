package stream

// Close ends a subscription that is not pumped. The plugin always pumps the
// subscriptions it makes (Pump closes them); tests that subscribe only to
// look at the answer close them with this.
func (s *Subscription) Close() error { return s.body.Close() }

package flow

// ServedHashes returns how many sign-ins' hash times recalibration has
// heard of (at most its window).
func (s *Service) ServedHashes() int {
	s.calib.mu.Lock()
	defer s.calib.mu.Unlock()
	return s.calib.served.n
}

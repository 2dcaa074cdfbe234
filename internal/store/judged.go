package store

// Judged reports whether punchd judges userID's days, so that a registration for them makes
// sense: anyone on the roster or — while the roster is empty, when everyone on the clocks is judged
// — anyone a clock knows or who punched.
func (db *DB) Judged(userID string) (bool, error) {
	if _, ok, err := db.Person(userID); err != nil || ok {
		return ok, err
	}
	people, err := db.Roster()
	if err != nil || len(people) > 0 {
		return false, err
	}
	unknown, err := db.Unknown()
	if err != nil {
		return false, err
	}
	for _, u := range unknown {
		if u.UserID == userID {
			return true, nil
		}
	}
	return false, nil
}

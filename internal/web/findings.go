package web

import (
	"net/http"
	"net/url"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/regform"
)

// findingForm is the form's fields, echoed back when it is refused.
type findingForm struct {
	Date, Unit, User, Kind, Text string
}

// findings lists a month's findings of checks on site; a supervisor (督查室) adds and revokes them.
func (s *Server) findings(w http.ResponseWriter, r *http.Request) {
	today := attendance.DateOf(s.now().In(s.o.Location))
	s.renderFindings(w, r, http.StatusOK, findingForm{Date: today.String(), Kind: string(attendance.FindingNegative)}, "", r.URL.Query().Get("done"))
}

func (s *Server) renderFindings(w http.ResponseWriter, r *http.Request, status int, f findingForm, formErr, done string) {
	ctx := r.Context()
	m, err := s.monthValue(r.URL.Query().Get("month"))
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	list, err := s.b.Findings(ctx, m.First(), m.Last())
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	people, err := s.b.Roster(ctx)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	canEdit := false
	if u, ok := userFrom(ctx); ok {
		canEdit = u.role.Can(account.Finding)
	}
	s.render(w, r, status, "findings", "督查发现", map[string]any{"Month": m.String(), "Prev": m.Prev().String(), "List": list,
		"People": people, "Units": s.o.Units, "Form": f, "Error": formErr, "Done": done, "CanEdit": canEdit})
}

// addFinding takes the form through `punchctl finding add`'s checks and the service.
func (s *Server) addFinding(w http.ResponseWriter, r *http.Request) {
	u, _ := userFrom(r.Context())
	f := findingForm{Date: r.PostFormValue("date"), Unit: r.PostFormValue("unit"), User: r.PostFormValue("user"),
		Kind: r.PostFormValue("kind"), Text: r.PostFormValue("text")}
	in, err := regform.ParseFinding(regform.FindingInput{Date: f.Date, Unit: f.Unit, User: f.User, Kind: f.Kind, Text: f.Text, By: u.account})
	if err == nil {
		var saved attendance.Finding
		if saved, err = s.b.AddFinding(r.Context(), in); err == nil {
			http.Redirect(w, r, "/findings?done="+url.QueryEscape("已记录 "+saved.ID), http.StatusSeeOther)
			return
		}
	}
	s.renderFindings(w, r, http.StatusBadRequest, f, err.Error(), "")
}

// revokeFinding is `punchctl finding revoke` from the list.
func (s *Server) revokeFinding(w http.ResponseWriter, r *http.Request) {
	u, _ := userFrom(r.Context())
	id := r.PathValue("id")
	if _, err := s.b.RevokeFinding(r.Context(), id, u.account, r.PostFormValue("reason")); err != nil {
		s.renderFindings(w, r, http.StatusBadRequest, findingForm{Kind: string(attendance.FindingNegative)}, err.Error(), "")
		return
	}
	http.Redirect(w, r, "/findings?done="+url.QueryEscape("已撤销 "+id), http.StatusSeeOther)
}

// Package report writes a scan's Report (package scan) in four formats:
// text for a terminal (WriteText), a JSON document that stands on its own
// (WriteJSON), SARIF 2.1.0 for code-scanning tools (WriteSARIF), and one
// self-contained HTML page with the timing check's plots (WriteHTML).
//
// Everything a target sent back is text the target chose: the writers
// escape what a terminal would obey (scan.Sanitize) and what a browser
// would run (html/template), so a hostile target cannot drive the
// terminal or inject markup into the page.
package report

// Package catalog lists the vendors onramp connects — the one place that
// names them all. A vendor appears here only when every method on its card
// works end to end.
package catalog

import (
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/microsoft"
)

// Default is the catalog of the wizard and the command line.
func Default() connector.Catalog {
	return connector.Catalog{gitlab.Card(gitlab.CardOptions{}), github.Card(github.CardOptions{}), microsoft.Card(microsoft.CardOptions{})}
}

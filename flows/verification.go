package flows

import (
	"errors"
	"fmt"
)

// explain turns any error into a StepError, keeping the connector's advice.
func explain(err error) *StepError {
	var se *StepError
	if errors.As(err, &se) {
		return se
	}
	var ex Explained
	if errors.As(err, &ex) {
		return &StepError{Field: ex.Field(), Message: ex.Error(), Hint: ex.Hint(), Retryable: ex.Retryable(), Err: err}
	}
	return &StepError{Message: err.Error(), Err: err}
}

func fieldError(field string, format string, args ...any) *StepError {
	return &StepError{Field: field, Message: fmt.Sprintf(format, args...)}
}

package io.quantbeam.core;

/**
 * A failure the user can act on: the message names the problem and, where there is one, the fix.
 * Everything Quantbeam refuses (bad model, bad data, bad option) is reported with this type.
 */
public class QuantbeamException extends RuntimeException {
  public QuantbeamException(String message) {
    super(message);
  }

  public QuantbeamException(String message, Throwable cause) {
    super(message, cause);
  }
}

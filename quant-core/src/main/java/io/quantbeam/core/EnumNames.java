package io.quantbeam.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Enum constants as users type them: any case, '-' or ' ' for '_' ({@code moving-average} is
 * {@code MOVING_AVERAGE}). One place for it, so that every option with a fixed set of values
 * accepts the same spellings and names its values the same way when one is wrong.
 */
public final class EnumNames {
  private EnumNames() {}

  /**
   * The constant {@code name} stands for.
   *
   * @param what what the value is, for the message ("calibration method")
   * @throws QuantbeamException naming the valid values if {@code name} is none of them
   */
  public static <E extends Enum<E>> E parse(Class<E> type, String name, String what) {
    if (name != null) {
      String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_');
      for (E e : type.getEnumConstants()) {
        if (e.name().equals(n)) {
          return e;
        }
      }
    }
    throw new QuantbeamException("unknown " + what + " '" + name + "'; use one of "
        + values(type));
  }

  /** How a constant is written on a command line: {@code MOVING_AVERAGE} as moving-average. */
  public static String display(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The valid values, comma-separated, as {@link #display} writes them. */
  public static String values(Class<? extends Enum<?>> type) {
    return Arrays.stream(type.getEnumConstants()).map(EnumNames::display)
        .collect(Collectors.joining(", "));
  }
}

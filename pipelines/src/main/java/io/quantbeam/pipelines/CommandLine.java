package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import io.quantbeam.core.EnumNames;
import io.quantbeam.core.QuantbeamException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * The one way Quantbeam reads a command line: positional words in front (a sub-command such as
 * {@code registry list}, or operands), then {@code --name=value} options that Beam parses into
 * the command's PipelineOptions interface. Every command goes through {@link Command#parse}, so
 * {@code --help}, defaults of a command's own and the error for a bad value work the same
 * everywhere.
 */
public final class CommandLine {
  private CommandLine() {}

  /**
   * A command: how it is invoked ({@code "quantbeam bench calibration"}), what follows that in
   * its usage line, one line on what it does, its options interface (null: none), and defaults
   * of its own that are added to the command line unless the user gives the option (for values
   * that depend on the checkout, or that differ from another command's option of the same name:
   * Beam requires the same {@code @Default} on an option name in every interface loaded
   * together).
   *
   * @param strict false for a command that passes the options it does not know on to another
   *     command ({@code bench flink} to {@code quantize}), which then checks them
   */
  public record Command<T extends PipelineOptions>(String name, String usage, String summary,
      Class<T> options, Map<String, String> defaults, boolean strict) {

    public Command(String name, String usage, String summary, Class<T> options) {
      this(name, usage, summary, options, Map.of(), true);
    }

    public Command<T> withDefaults(Map<String, String> d) {
      return new Command<>(name, usage, summary, options, new LinkedHashMap<>(d), strict);
    }

    public Command<T> lenient() {
      return new Command<>(name, usage, summary, options, defaults, false);
    }

    /** {@code usage: <name> <usage> [--option=value ...]}. */
    public String usageLine() {
      return "usage: " + name + (usage.isEmpty() ? "" : " " + usage)
          + (options == null ? "" : " [--option=value ...]");
    }

    /** Prints the help and returns true when {@code args} ask for it. */
    public boolean helpAsked(List<String> args) {
      if (args.contains("--help")) {
        printHelp(System.out);
        return true;
      }
      return false;
    }

    /**
     * {@code options} (the words already taken off) parsed into the options interface and
     * validated, with this command's defaults under them; empty when they ask for
     * {@code --help}, which is then printed.
     *
     * @throws QuantbeamException naming the option and, for a fixed set of values, the valid ones
     */
    public Optional<T> parse(List<String> options) {
      if (helpAsked(options)) {
        return Optional.empty();
      }
      String[] args = CommandLine.withDefaults(options, defaults).toArray(String[]::new);
      PipelineOptionsFactory.register(this.options); // so that --help=<Interface> knows it too
      try {
        PipelineOptionsFactory.Builder b = PipelineOptionsFactory.fromArgs(args);
        return Optional.of(strict ? b.withValidation().as(this.options)
            : b.withoutStrictParsing().as(this.options));
      } catch (IllegalArgumentException e) {
        throw new QuantbeamException(explain(this.options, args, e), e);
      }
    }

    /**
     * {@link #parse} for a command's main: after printing the help it exits with status 0, as
     * Beam's own {@code --help=<Interface>} does.
     */
    public T parseOrExit(List<String> options) {
      Optional<T> o = parse(options);
      if (o.isEmpty()) {
        System.exit(0);
      }
      return o.get();
    }

    /** The usage line, the summary, then Beam's list of the command's options, with its defaults. */
    public void printHelp(PrintStream out) {
      out.println(usageLine());
      out.print(wrap(summary, "", 96));
      // the defaults for options listed below show there; those passed on to another command here
      Map<String, String> passedOn = new LinkedHashMap<>(defaults);
      if (options != null) {
        OptionsReference.all(options).forEach(o -> passedOn.remove(o.name()));
      }
      if (!passedOn.isEmpty()) {
        out.println("defaults of this command for the options it passes on:");
        passedOn.forEach((k, v) -> out.println("  --" + k + "=" + v));
      }
      if (options != null) {
        out.println();
        out.print(withOwnDefaults(ownSections(options), defaults));
        out.println("Beam's own options (--runner, --targetParallelism, ...):"
            + " --help=PipelineOptions,\n  --help=DirectOptions, --help=FlinkPipelineOptions");
      }
    }
  }

  /**
   * Beam's help for {@code type} without its sections for Beam's own interfaces, which every
   * command shares and which would bury the command's few options.
   */
  static String ownSections(Class<? extends PipelineOptions> type) {
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    PipelineOptionsFactory.printHelp(new PrintStream(buf, true, StandardCharsets.UTF_8), type);
    StringBuilder out = new StringBuilder();
    boolean keep = true;
    for (String line : buf.toString(StandardCharsets.UTF_8).split("\n", -1)) {
      if (!line.isEmpty() && !line.startsWith(" ") && line.endsWith(":")) {
        keep = !line.startsWith("org.apache.beam.");
      }
      if (keep) {
        out.append(line).append('\n');
      }
    }
    return out.toString().stripTrailing() + "\n\n";
  }

  /** {@code text} in lines of at most {@code width} characters, each after {@code indent}. */
  public static String wrap(String text, String indent, int width) {
    StringBuilder out = new StringBuilder();
    StringBuilder line = new StringBuilder(indent);
    for (String word : text.split(" ")) {
      if (line.length() > indent.length() && line.length() + 1 + word.length() > width) {
        out.append(line).append('\n');
        line = new StringBuilder(indent);
      }
      line.append(line.length() > indent.length() ? " " : "").append(word);
    }
    return out.append(line).append('\n').toString();
  }

  /**
   * Beam's help with each option's "Default:" line showing the command's own default where it
   * has one (Beam shows the annotation, which is the same for every command).
   */
  static String withOwnDefaults(String help, Map<String, String> defaults) {
    StringBuilder out = new StringBuilder();
    String option = null;
    for (String line : help.split("\n", -1)) {
      java.util.regex.Matcher m = OPTION_LINE.matcher(line);
      if (m.matches()) {
        option = m.group(1);
        out.append(line).append('\n');
        if (defaults.containsKey(option)) {
          out.append("    Default: ").append(defaults.get(option)).append(" (this command's)\n");
        }
        continue;
      }
      if (!(option != null && defaults.containsKey(option) && line.startsWith("    Default: "))) {
        out.append(line).append('\n');
      }
    }
    return out.substring(0, out.length() - 1);
  }

  private static final java.util.regex.Pattern OPTION_LINE =
      java.util.regex.Pattern.compile("  --(\\w+)=<.*>");

  /** The leading words: arguments before the first {@code --option}. */
  public static List<String> words(String[] args) {
    int i = 0;
    while (i < args.length && !args[i].startsWith("--")) {
      i++;
    }
    return List.of(args).subList(0, i);
  }

  /** What follows the leading words. */
  public static List<String> options(String[] args) {
    return List.of(args).subList(words(args).size(), args.length);
  }

  /** Whether {@code --name} or {@code --name=...} is among {@code args}. */
  public static boolean given(List<String> args, String name) {
    String flag = "--" + name;
    return args.stream().anyMatch(a -> a.equals(flag) || a.startsWith(flag + "="));
  }

  /** The value of the last {@code --name=value}, if any. */
  public static Optional<String> value(List<String> args, String name) {
    String prefix = "--" + name + "=";
    Optional<String> v = Optional.empty();
    for (String a : args) {
      if (a.startsWith(prefix)) {
        v = Optional.of(a.substring(prefix.length()));
      }
    }
    return v;
  }

  /** {@code args} with {@code --name=value} added for each default the user did not give. */
  public static List<String> withDefaults(List<String> args, Map<String, String> defaults) {
    List<String> out = new ArrayList<>(args);
    defaults.forEach((name, value) -> {
      if (!given(args, name)) {
        out.add("--" + name + "=" + value);
      }
    });
    return out;
  }

  /** {@code args} without the options {@code names} (those a command consumes itself). */
  public static List<String> without(List<String> args, String... names) {
    List<String> out = new ArrayList<>();
    for (String a : args) {
      if (Arrays.stream(names).noneMatch(n -> given(List.of(a), n))) {
        out.add(a);
      }
    }
    return out;
  }

  /**
   * Beam's message, or for a bad value of a fixed set (Jackson's message names the Java type and
   * "[Source: UNKNOWN]", not the option) one that names the option, its value and the valid
   * values.
   */
  static String explain(Class<? extends PipelineOptions> type, String[] args,
      IllegalArgumentException e) {
    Class<?> enumType = null;
    for (Throwable t = e; t != null && enumType == null; t = t.getCause()) {
      if (t instanceof InvalidFormatException f && f.getTargetType() != null
          && f.getTargetType().isEnum()) {
        enumType = f.getTargetType();
      } else if (t instanceof ValueInstantiationException v && v.getType().isEnumType()) {
        enumType = v.getType().getRawClass();
      }
    }
    if (enumType == null) {
      String m = String.valueOf(e.getMessage());
      return e.getCause() instanceof JsonMappingException ? m.replaceAll("\\s*at \\[Source.*", "")
          : m;
    }
    @SuppressWarnings("unchecked")
    Class<? extends Enum<?>> en = (Class<? extends Enum<?>>) enumType;
    Set<String> names = OptionsReference.optionsOfEnum(type, en);
    for (int i = args.length - 1; i >= 0; i--) {
      for (String n : names) {
        if (args[i].startsWith("--" + n + "=")) {
          return "Invalid " + args[i] + ": use " + (OptionsReference.isList(type, n)
              ? "a comma list of " : "one of ") + EnumNames.values(en) + " (any case)";
        }
      }
    }
    return "Invalid value for an option of " + en.getSimpleName() + ": use one of "
        + EnumNames.values(en) + " (any case)";
  }
}

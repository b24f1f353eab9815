package io.quantbeam.pipelines;

import io.quantbeam.core.EnumNames;
import io.quantbeam.pipelines.CommandLine.Command;
import java.beans.Introspector;
import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Hidden;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/**
 * Writes docs/options.md from the options interfaces themselves (names, descriptions, defaults,
 * values, required), one section per command, so the reference cannot drift from the code;
 * {@code OptionsReferenceTest} fails when the committed file differs.
 *
 * <pre>java -cp pipelines/target/quantbeam-pipelines.jar io.quantbeam.pipelines.OptionsReference
 *     [docs/options.md]</pre>
 */
public final class OptionsReference {
  /** Where the reference is committed, relative to the repository root. */
  public static final String FILE = "docs/options.md";
  /** Stands for the checkout in defaults that depend on it (the launcher sets it). */
  static final Path ROOT = Path.of("$QUANTBEAM_HOME");

  private OptionsReference() {}

  /** One option as the reflection sees it. */
  record Option(String name, Method getter, String description, String defaultValue,
      boolean required, Class<? extends Enum<?>> enumType, boolean list) {}

  public static void main(String[] args) throws IOException {
    Path file = args.length > 0 ? Path.of(args[0]) : DemoCommand.root().resolve(FILE);
    Files.writeString(file, markdown(Commands.all(ROOT)), StandardCharsets.UTF_8);
    System.out.println("Wrote " + file);
  }

  /** The options declared on {@code iface} itself (not inherited), by name. */
  static List<Option> declared(Class<?> iface) {
    List<Option> out = new ArrayList<>();
    for (Method m : iface.getDeclaredMethods()) {
      String n = m.getName();
      int prefix = n.startsWith("get") ? 3 : n.startsWith("is") ? 2 : 0;
      if (prefix == 0 || m.getParameterCount() > 0 || Modifier.isStatic(m.getModifiers())
          || m.isDefault() || m.isAnnotationPresent(Hidden.class)) {
        continue;
      }
      Class<?> element = m.getReturnType();
      boolean list = List.class.isAssignableFrom(element);
      if (list && m.getGenericReturnType() instanceof ParameterizedType p
          && p.getActualTypeArguments()[0] instanceof Class<?> c) {
        element = c;
      }
      @SuppressWarnings("unchecked")
      Class<? extends Enum<?>> en = element.isEnum() ? (Class<? extends Enum<?>>) element : null;
      Description d = m.getAnnotation(Description.class);
      out.add(new Option(Introspector.decapitalize(n.substring(prefix)), m,
          d == null ? "" : d.value(), defaultValue(m),
          m.isAnnotationPresent(Validation.Required.class), en, list));
    }
    out.sort(Comparator.comparing(Option::name));
    return out;
  }

  /** Every Quantbeam option of {@code iface}, inherited ones included (not Beam's own). */
  static List<Option> all(Class<?> iface) {
    List<Option> out = new ArrayList<>();
    Set<Class<?>> seen = new HashSet<>();
    List<Class<?>> todo = new ArrayList<>(List.of(iface));
    while (!todo.isEmpty()) {
      Class<?> c = todo.remove(0);
      if (c.getName().startsWith("io.quantbeam.") && seen.add(c)) {
        out.addAll(declared(c));
        todo.addAll(Arrays.asList(c.getInterfaces()));
      }
    }
    return out;
  }

  /** The names of {@code iface}'s options whose values (or elements) are {@code enumType}. */
  static Set<String> optionsOfEnum(Class<?> iface, Class<?> enumType) {
    Set<String> out = new LinkedHashSet<>();
    all(iface).stream().filter(o -> o.enumType() == enumType).forEach(o -> out.add(o.name()));
    return out;
  }

  static boolean isList(Class<?> iface, String name) {
    return all(iface).stream().anyMatch(o -> o.name().equals(name) && o.list());
  }

  /** The value of the getter's {@code @Default.*} annotation as a user writes it, else null. */
  private static String defaultValue(Method getter) {
    for (Annotation a : getter.getAnnotations()) {
      if (a.annotationType().getEnclosingClass() != Default.class) {
        continue;
      }
      if (a instanceof Default.Enum e) {
        @SuppressWarnings({"unchecked", "rawtypes"})
        Enum<?> v = Enum.valueOf((Class) getter.getReturnType(), e.value());
        return EnumNames.display(v);
      }
      try {
        if (a instanceof Default.InstanceFactory f) {
          // a list's default (Beam has no literal one for lists): what the factory makes
          Object v = f.value().getDeclaredConstructor().newInstance().create(null);
          return v instanceof List<?> l ? String.join(",", l.stream()
              .map(x -> x instanceof Enum<?> e ? EnumNames.display(e) : String.valueOf(x))
              .toList()) : String.valueOf(v);
        }
        Object v = a.annotationType().getMethod("value").invoke(a);
        return v instanceof Class<?> c ? c.getSimpleName() : String.valueOf(v);
      } catch (ReflectiveOperationException ex) {
        throw new IllegalStateException("Cannot read " + a + " on " + getter, ex);
      }
    }
    return null;
  }

  /** How the values are written: a type, or the fixed set of values. */
  static String values(Option o) {
    if (o.enumType() != null) {
      return (o.list() ? "comma list of " : "one of ") + EnumNames.values(o.enumType());
    }
    Type t = o.list() && o.getter().getGenericReturnType() instanceof ParameterizedType p
        ? p.getActualTypeArguments()[0] : o.getter().getReturnType();
    String base = switch (t.getTypeName()) {
      case "int", "long", "java.lang.Integer", "java.lang.Long" -> "whole number";
      case "double", "float", "java.lang.Double" -> "number";
      case "boolean", "java.lang.Boolean" -> "true or false";
      default -> "text";
    };
    return o.list() ? "comma list of " + (base.equals("whole number") ? "whole numbers" : base)
        : base;
  }

  /** The reference: one section per command. */
  static String markdown(List<Command<?>> commands) {
    StringBuilder md = new StringBuilder();
    md.append("# Command-line options\n\n")
        .append("Generated from the options interfaces by")
        .append(" `io.quantbeam.pipelines.OptionsReference` (do not edit by hand; regenerate with `").append(REGENERATE).append("`).\n")
        .append("`./quantbeam <command> --help` prints the same options. Every command reads")
        .append(" positional words first (a sub-command), then `--name=value` options; a fixed")
        .append(" set of values is accepted in any case, `-` standing for `_`. Beam's own")
        .append(" options (`--runner`, `--targetParallelism`, ...) pass through to the pipeline")
        .append(" commands; on DirectRunner, `quantize`, `drift`, `demo` and `bench calibration`")
        .append(" add `--targetParallelism` (cores / `--intraOpThreads`),")
        .append(" `--enforceImmutability=false` and `--enforceEncodability=false` unless given.\n");
    Set<Class<?>> documented = new HashSet<>();
    for (Command<?> c : commands) {
      md.append("\n## `").append(c.name()).append(c.usage().isEmpty() ? "" : " " + c.usage())
          .append("`\n\n").append(c.summary()).append("\n");
      if (c.options() == null || c.options() == PipelineOptions.class) {
        md.append("\nNo options of its own.\n");
        continue;
      }
      List<Class<?>> ifaces = new ArrayList<>(List.of(c.options()));
      ifaces.addAll(Arrays.asList(c.options().getInterfaces()));
      List<String> also = new ArrayList<>();
      List<Option> rows = new ArrayList<>();
      for (Class<?> i : ifaces) {
        if (!i.getName().startsWith("io.quantbeam.")) {
          continue;
        }
        // a command's whole interface is referred to; a shared part is listed again
        boolean main = commands.stream().anyMatch(o -> o.options() == i);
        if (main && documented.contains(i)) {
          also.add(commandOf(commands, i));
        } else {
          documented.add(i);
          rows.addAll(declared(i));
        }
      }
      if (!rows.isEmpty()) {
        md.append("\n| option | values | default | description |\n| --- | --- | --- | --- |\n");
        rows.stream().sorted(Comparator.comparing(Option::name)).forEach(o -> md.append("| `--")
            .append(o.name()).append("` | ").append(values(o)).append(" | ")
            .append(o.required() ? "**required**" : cell(c.defaults().containsKey(o.name())
                ? c.defaults().get(o.name()) : o.defaultValue()))
            .append(" | ").append(o.description().replace("|", "\\|")).append(" |\n"));
      }
      for (String a : also) {
        md.append("\nTakes every option of `").append(a).append("`.\n");
      }
      if (!c.strict()) {
        md.append("\nOptions it does not know are passed on (and checked there).\n");
      }
      List<String> own = c.defaults().keySet().stream()
          .filter(k -> rows.stream().noneMatch(o -> o.name().equals(k))).toList();
      if (!own.isEmpty()) {
        md.append("\nDefaults of this command:");
        own.forEach(k -> md.append(" `--").append(k).append('=').append(c.defaults().get(k))
            .append('`'));
        md.append(".\n");
      }
    }
    return md.toString();
  }

  /** The command that first documents {@code iface}. */
  private static String commandOf(List<Command<?>> commands, Class<?> iface) {
    return commands.stream().filter(c -> c.options() == iface).map(Command::name).findFirst()
        .orElse(iface.getSimpleName());
  }

  private static String cell(String v) {
    return v == null ? "" : v.isEmpty() ? "(empty)" : "`" + v + "`";
  }

  /** The command that regenerates the committed reference, for messages. */
  public static final String REGENERATE = "mvn -q -B -DskipTests package && java -cp"
      + " pipelines/target/quantbeam-pipelines.jar io.quantbeam.pipelines.OptionsReference";
}

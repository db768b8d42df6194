package streamsrs;

/**
 * Prints topology.describe() of the named oracle scenarios (see Scenarios), each after a
 * "=== NAME" line.
 *
 * <p>Usage: Describe NAME...
 */
public final class Describe {
  public static void main(String[] args) {
    for (String name : args) {
      System.out.println("=== " + name);
      System.out.println(Scenarios.build(name).topology().describe());
    }
  }

  private Describe() {}
}

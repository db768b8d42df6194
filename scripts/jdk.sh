# Sourced by scripts/kafka.sh and scripts/java.sh: `need_jdk` installs a JDK 17 and Maven with
# apt when `javac` or `mvn` is missing (the broker needs a JRE, the Java side of the oracle and
# of the benchmarks a compiler; Maven resolves both from Maven Central into ~/.m2).
need_jdk() {
  if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q openjdk-17-jdk-headless maven
  fi
}

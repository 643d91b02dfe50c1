import java.util.List;

public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        List<String> got = Names.initials(List.of("ada", "", "bob"));
        check(got.equals(List.of("A", "B")), "initials: " + got);
        check(Names.joined(List.of("a", "b")).equals("a, b"), "joined");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }
}

public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        check(new Person("Ada", "Lovelace").initials().equals("A.L."), "both names");
        check(initials("", "Lovelace").equals("L."), "no first name");
        check(initials("Ada", "").equals("A."), "no last name");
        check(initials("", "").equals(""), "no names");
        check(new Person("", "Lovelace").displayName().equals("Lovelace"), "displayName");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }

    private static String initials(String first, String last) {
        try {
            return new Person(first, last).initials();
        } catch (RuntimeException e) {
            return "threw " + e;
        }
    }
}

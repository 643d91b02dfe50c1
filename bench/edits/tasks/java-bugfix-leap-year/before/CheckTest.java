public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        check(!Dates.isLeapYear(1900), "1900 is not a leap year");
        check(!Dates.isLeapYear(2023), "2023 is not a leap year");
        check(Dates.isLeapYear(2000), "2000 is a leap year");
        check(Dates.isLeapYear(2024), "2024 is a leap year");
        check(Dates.daysInFebruary(2023) == 28, "February 2023 has 28 days");
        check(Dates.daysInYear(2024) == 366, "2024 has 366 days");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }
}

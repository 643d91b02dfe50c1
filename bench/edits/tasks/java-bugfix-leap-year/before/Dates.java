public class Dates {
    public static boolean isLeapYear(int year) {
        return year % 4 == 0 || year % 100 != 0 || year % 400 == 0;
    }

    public static int daysInFebruary(int year) {
        return isLeapYear(year) ? 29 : 28;
    }

    public static int daysInYear(int year) {
        return isLeapYear(year) ? 366 : 365;
    }
}

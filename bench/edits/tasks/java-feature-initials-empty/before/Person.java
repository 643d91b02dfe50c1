public class Person {
    private final String first;
    private final String last;

    public Person(String first, String last) {
        this.first = first;
        this.last = last;
    }

    public String initials() {
        return first.charAt(0) + "." + last.charAt(0) + ".";
    }

    public String displayName() {
        return (first + " " + last).trim();
    }
}

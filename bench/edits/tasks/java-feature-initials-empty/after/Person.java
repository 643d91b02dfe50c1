public class Person {
    private final String first;
    private final String last;

    public Person(String first, String last) {
        this.first = first;
        this.last = last;
    }

    public String initials() {
        StringBuilder sb = new StringBuilder();
        if (!first.isEmpty()) {
            sb.append(first.charAt(0)).append('.');
        }
        if (!last.isEmpty()) {
            sb.append(last.charAt(0)).append('.');
        }
        return sb.toString();
    }

    public String displayName() {
        return (first + " " + last).trim();
    }
}

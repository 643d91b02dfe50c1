import java.util.ArrayList;
import java.util.List;

public class Team {
    public static final int MAX_MEMBERS = 12;

    private final List<String> members = new ArrayList<>();

    public boolean join(String name) {
        if (members.size() >= MAX_MEMBERS || members.contains(name)) {
            return false;
        }
        members.add(name);
        return true;
    }

    public int size() {
        return members.size();
    }
}

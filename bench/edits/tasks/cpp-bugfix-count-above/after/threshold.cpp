#include <vector>

// How many readings are strictly above the limit.
int count_above(const std::vector<double>& readings, double limit) {
    int n = 0;
    for (double r : readings) {
        if (r > limit) {
            ++n;
        }
    }
    return n;
}

bool any_above(const std::vector<double>& readings, double limit) {
    return count_above(readings, limit) > 0;
}

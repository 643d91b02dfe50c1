#include <vector>

int sum_all(const std::vector<int>& xs) {
    int total = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        total += xs[i];
    }
    return total;
}

int count_positive(const std::vector<int>& xs) {
    int n = 0;
    for (int x : xs) {
        if (x > 0) {
            ++n;
        }
    }
    return n;
}

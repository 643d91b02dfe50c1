#include <vector>

double calc_avg(const std::vector<double>& xs) {
    if (xs.empty()) {
        return 0.0;
    }
    double sum = 0.0;
    for (double x : xs) {
        sum += x;
    }
    return sum / xs.size();
}

double above_avg_share(const std::vector<double>& xs) {
    if (xs.empty()) {
        return 0.0;
    }
    const double avg = calc_avg(xs);
    int n = 0;
    for (double x : xs) {
        if (x > avg) {
            ++n;
        }
    }
    return static_cast<double>(n) / xs.size();
}

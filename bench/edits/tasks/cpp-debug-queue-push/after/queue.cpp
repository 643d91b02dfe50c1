#include <deque>
#include <iostream>
#include <string>

class JobQueue {
public:
    void push(const std::string& job) {
        jobs_.push_back(job);
    }

    std::string pop() {
        if (jobs_.empty()) {
            return "";
        }
        std::string job = jobs_.front();
        jobs_.pop_front();
        return job;
    }

    std::size_t size() const { return jobs_.size(); }

private:
    std::deque<std::string> jobs_;
};
